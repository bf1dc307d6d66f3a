import { createWorkerApp, exitOnBootFailure, loadConfigOrExit } from '@cargohold/platform';
import { AppModule } from './app.module';

loadConfigOrExit('gc');
createWorkerApp(AppModule).catch(exitOnBootFailure('gc'));
