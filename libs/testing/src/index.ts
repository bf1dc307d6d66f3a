export * from './postgres';
export * from './redis';
export * from './s3-server';
export * from './system';
export * from './docker-cli';
export * from './dockerd';
export * from './fixtures';
export * from './registry';
