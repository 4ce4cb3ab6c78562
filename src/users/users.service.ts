import { Injectable } from '@nestjs/common';
import type { PageArgs } from '../common/page.args.js';
import { PAGE_DEFAULT } from '../common/rules.js';
import { toUser, type User } from './user.model.js';
import { UsersRepository } from './users.repository.js';

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  async list(page: PageArgs): Promise<User[]> {
    const rows = await this.users.page(page.first ?? PAGE_DEFAULT, page.after ?? undefined);
    return rows.map(toUser);
  }
}
