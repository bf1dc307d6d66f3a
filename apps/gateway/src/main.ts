import { MetricsModule } from '@cargohold/metrics';
import { publishOpenApi } from '@cargohold/native-api';
import { createHttpApp, exitOnBootFailure, loadConfigOrExit } from '@cargohold/platform';
import { AppModule } from './app.module';

loadConfigOrExit('gateway');
// The OpenAPI document lists /metrics beside the native API: it takes the same admin tokens.
createHttpApp(AppModule, 'gateway', (app) => publishOpenApi(app, [MetricsModule])).catch(exitOnBootFailure('gateway'));
