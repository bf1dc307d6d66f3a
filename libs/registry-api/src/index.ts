export * from './registry-api.module';
export * from './registry-errors';
export * from './registry-route.util';
