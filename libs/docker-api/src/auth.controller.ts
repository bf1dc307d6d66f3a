import { Body, Controller, HttpCode, Post, UnauthorizedException, UseFilters } from '@nestjs/common';
import { RegistryAuthError, RegistryClient } from '@cargohold/registry-client';
import { DockerErrorFilter } from './docker-error.filter';
import { registryDomain } from './registry-auth.util';

interface AuthBody {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

/** `docker login`: check the credentials against the registry itself, as dockerd does. */
@Controller('auth')
@UseFilters(DockerErrorFilter)
export class AuthController {
  constructor(private readonly registries: RegistryClient) {}

  @Post()
  @HttpCode(200)
  async login(@Body() body: AuthBody | undefined) {
    const domain = registryDomain(body?.serveraddress);
    const session = this.registries.session(domain, {
      username: body?.username || undefined,
      password: body?.password || undefined,
      identitytoken: body?.identitytoken || undefined,
    });
    try {
      await session.ping();
    } catch (err) {
      if (err instanceof RegistryAuthError) throw new UnauthorizedException(err.message);
      throw err;
    }
    return { Status: 'Login Succeeded', IdentityToken: session.identityToken ?? '' };
  }
}
