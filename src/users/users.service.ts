import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors.js';
import { isUuid } from '../common/uuid.js';
import { toUser, type User } from './user.model.js';
import { UsersRepository } from './users.repository.js';

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  async list(first: number, after?: string | null): Promise<User[]> {
    if (!Number.isInteger(first) || first < 1 || first > 100) {
      throw AppError.badInput([{ field: 'first', message: 'must be between 1 and 100' }]);
    }
    if (after != null && !isUuid(after)) {
      throw AppError.badInput([{ field: 'after', message: 'must be a user id' }]);
    }
    const rows = await this.users.page(first, after ?? undefined);
    return rows.map(toUser);
  }
}
