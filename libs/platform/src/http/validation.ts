import { ValidationError, ValidationPipe } from '@nestjs/common';
import { PROBLEM_BASE, ProblemException } from './problem';

function flatten(errors: ValidationError[], parent = ''): { field: string; messages: string[] }[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, messages: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** class-validator at the edge; errors come back field by field as problem+json. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) =>
      new ProblemException({
        type: PROBLEM_BASE + 'validation',
        title: 'Request body is invalid',
        status: 400,
        errors: flatten(errors),
      }),
  });
}
