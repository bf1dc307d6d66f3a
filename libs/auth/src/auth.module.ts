import { Module } from '@nestjs/common';
import { AccessPolicy } from './access-policy.service';
import { ApiTokenService } from './api-token.service';
import { RegistryTokenService } from './registry-token.service';
import { ServiceSecretStore } from './service-secret.store';

/** Tokens and access decisions. Needs the global APP_CONFIG and DataSource providers (platform). */
@Module({
  providers: [AccessPolicy, ApiTokenService, RegistryTokenService, ServiceSecretStore],
  exports: [AccessPolicy, ApiTokenService, RegistryTokenService],
})
export class AuthModule {}
