export * from './api-version';
export * from './docker-api.module';
export * from './docker-error.filter';
