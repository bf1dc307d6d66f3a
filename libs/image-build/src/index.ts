export * from './build-cache.repository';
export * from './image-build.module';
