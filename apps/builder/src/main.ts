import { createWorkerApp, exitOnBootFailure, loadConfigOrExit } from '@cargohold/platform';
import { AppModule } from './app.module';

loadConfigOrExit('builder');
createWorkerApp(AppModule).catch(exitOnBootFailure('builder'));
