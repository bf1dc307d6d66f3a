export * from './changes.util';
export * from './http-source.client';
export * from './image-import.module';
export * from './image-import.service';
export * from './import-target.util';
export * from './import.errors';
export * from './import.types';
