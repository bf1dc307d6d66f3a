export * from './gc-worker.module';
export * from './prune.service';
export * from './sweep.service';
export * from './gc-schedules.module';
export * from './scheduled-prune.handler';
export * from './scheduled-prune.service';
