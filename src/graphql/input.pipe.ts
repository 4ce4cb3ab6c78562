import {
  Injectable,
  ValidationPipe,
  type ArgumentMetadata,
  type PipeTransform,
} from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import { AppError, type FieldProblem } from '../common/errors.js';
import { unsafeTextProblem } from '../common/rules.js';
import { isSecretField } from '../common/validators.js';

function fieldProblems(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...fieldProblems(e.children ?? [], field)];
  });
}

/**
 * Every string in an argument value that no layer below could store as
 * given, except in the fields of `type` that are only ever hashed (passwords).
 */
function unsafeStrings(value: unknown, path: string, out: FieldProblem[], type?: unknown): void {
  if (typeof value === 'string') {
    const p = unsafeTextProblem(value);
    if (p) out.push({ field: path, message: p });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => unsafeStrings(v, `${path}.${i}`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!isSecretField(type, k)) unsafeStrings(v, path ? `${path}.${k}` : k, out);
    }
  }
}

/**
 * The one validation of every GraphQL argument, applied globally (APP_PIPE),
 * so a new argument or input type is validated without anyone remembering to:
 *
 * 1. any string anywhere in an argument that PostgreSQL would refuse or
 *    change (a NUL, a lone surrogate) is BAD_USER_INPUT naming its field
 *    (passwords excepted: they are only hashed, and every character counts);
 * 2. an @InputType / @ArgsType class is checked against its class-validator
 *    rules (common/validators.ts), BAD_USER_INPUT naming each field at fault.
 *
 * Parameters of custom decorators (@CurrentUser, @Client) are not arguments
 * and pass untouched.
 */
@Injectable()
export class InputPipe implements PipeTransform {
  private readonly classes = new ValidationPipe({
    transform: false,
    forbidUnknownValues: false,
    exceptionFactory: (errors) => AppError.badInput(fieldProblems(errors)),
  });

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'custom') return value;
    const unsafe: FieldProblem[] = [];
    // An @Args('input') object names its fields as they are (`email`, not `input.email`),
    // like class-validator does; a scalar argument by its own name.
    const isObject = value !== null && typeof value === 'object';
    unsafeStrings(value, isObject ? '' : (metadata.data ?? ''), unsafe, metadata.metatype);
    if (unsafe.length) throw AppError.badInput(unsafe);
    return this.classes.transform(value, metadata);
  }
}
