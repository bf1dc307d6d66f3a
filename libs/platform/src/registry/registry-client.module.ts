import { Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '@cargohold/config';
import type { AppConfig } from '@cargohold/config';
import { RegistryClient } from '@cargohold/registry-client';

/** One RegistryClient per process (it caches tokens per registry and scope), from the config. */
@Global()
@Module({
  providers: [
    {
      provide: RegistryClient,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new RegistryClient({
          insecureRegistries: config.registries.insecure,
          mirrors: config.registries.mirrors,
          dockerHubEndpoint: config.registries.dockerHubUrl,
          userAgent: 'cargohold',
        }),
    },
  ],
  exports: [RegistryClient],
})
export class RegistryClientModule {}
