import { createHttpApp, exitOnBootFailure, loadConfigOrExit } from '@cargohold/platform';
import { AppModule } from './app.module';

loadConfigOrExit('gateway');
createHttpApp(AppModule, 'gateway').catch(exitOnBootFailure('gateway'));
