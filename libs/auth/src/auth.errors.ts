/** A token that cannot be created as asked (name, expiry, scopes); the message says which and why. */
export class InvalidTokenRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTokenRequestError';
  }
}

/** A scope or repository pattern that cannot be stored. */
export class InvalidScopeError extends InvalidTokenRequestError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidScopeError';
  }
}

/** No API token has this id (HTTP APIs answer 404). */
export class TokenNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`no API token has the id ${JSON.stringify(id)}`);
    this.name = 'TokenNotFoundError';
  }
}

/** A registry bearer token that is forged, expired, for another audience or for a revoked API token. */
export class InvalidRegistryTokenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidRegistryTokenError';
  }
}
