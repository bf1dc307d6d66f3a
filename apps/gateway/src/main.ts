import { publishOpenApi } from '@cargohold/native-api';
import { createHttpApp, exitOnBootFailure, loadConfigOrExit } from '@cargohold/platform';
import { AppModule } from './app.module';

loadConfigOrExit('gateway');
createHttpApp(AppModule, 'gateway', publishOpenApi).catch(exitOnBootFailure('gateway'));
