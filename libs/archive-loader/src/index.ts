export * from './archive-loader.module';
export * from './archive-loader.service';
