export { importJobSchema } from '@cargohold/queue-contracts';
export type { ImportJob, ImportJobPayload, ImportResult } from '@cargohold/queue-contracts';
