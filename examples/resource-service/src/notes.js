import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';

export const MAX_NOTE_LENGTH = 2000;

/** Notes kept in memory, per owner (the token's `sub`): nobody reaches another owner's notes. */
export class NotesStore {
  #byOwner = new Map();

  list(owner) {
    return [...(this.#byOwner.get(owner) ?? [])];
  }

  add(owner, text) {
    const t = typeof text === 'string' ? text.trim() : '';
    if (t.length === 0 || t.length > MAX_NOTE_LENGTH) {
      throw new GraphQLError(`text must be 1 to ${MAX_NOTE_LENGTH} characters`, {
        extensions: { code: 'BAD_USER_INPUT', fields: ['text'] },
      });
    }
    const note = { id: randomUUID(), text: t, createdAt: new Date().toISOString() };
    const list = this.#byOwner.get(owner) ?? [];
    list.push(note);
    this.#byOwner.set(owner, list);
    return note;
  }

  /** True when the owner had a note with this id (now deleted); false for any other id. */
  remove(owner, id) {
    const list = this.#byOwner.get(owner) ?? [];
    const i = list.findIndex((n) => n.id === id);
    if (i < 0) return false;
    list.splice(i, 1);
    return true;
  }
}
