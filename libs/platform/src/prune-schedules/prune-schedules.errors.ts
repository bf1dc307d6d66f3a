/** No prune schedule has this id (the native API answers 404). */
export class PruneScheduleNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`no prune schedule with id "${id}"`);
    this.name = 'PruneScheduleNotFoundError';
  }
}

/** Schedule names are unique (the native API answers 409). */
export class PruneScheduleNameTakenError extends Error {
  constructor(readonly scheduleName: string) {
    super(`a prune schedule named "${scheduleName}" already exists`);
    this.name = 'PruneScheduleNameTakenError';
  }
}
