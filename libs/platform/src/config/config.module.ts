import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, loadConfig } from '@cargohold/config';

/** Provides the validated AppConfig as APP_CONFIG everywhere. main.ts validates it before Nest starts. */
@Global()
@Module({
  providers: [{ provide: APP_CONFIG, useFactory: () => loadConfig() }],
  exports: [APP_CONFIG],
})
export class ConfigModule {}
