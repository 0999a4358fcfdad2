/**
 * The small error vocabulary of the service. Layers wrap with `cause`; one HTTP error handler maps
 * each class to a status (server/http/error-handler.ts). `message` is always written for a person.
 */

export interface FieldIssue {
  path: string;
  message: string;
}

export class AppError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that does not match what was asked (400). */
export class InvalidInputError extends AppError {
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** No valid session (401). */
export class NotAuthenticatedError extends AppError {}

/** Authenticated or not, this is refused (403): wrong setup code, CSRF, Origin, Host. `issues` name the field it is about, when one (the setup code). */
export class ForbiddenError extends AppError {
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

export class NotFoundError extends AppError {}

/** The current state does not allow it (409). */
export class ConflictError extends AppError {}

/** Too many attempts; try again after `retryAfterSeconds` (429). */
export class TooManyAttemptsError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A resource (a disk) is held by another job (409 for API callers; jobs wait instead). */
export class BusyError extends AppError {}

/** Something failed that the owner can act on; `advice` says what to do (503 in the API). */
export class UnavailableError extends AppError {
  constructor(
    message: string,
    readonly advice?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
