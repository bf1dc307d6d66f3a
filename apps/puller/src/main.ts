import { createWorkerApp, exitOnBootFailure, loadConfigOrExit } from '@cargohold/platform';
import { AppModule } from './app.module';

loadConfigOrExit('puller');
createWorkerApp(AppModule).catch(exitOnBootFailure('puller'));
