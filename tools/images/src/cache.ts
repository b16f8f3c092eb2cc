// Images keyed by their inputs: a build hashes what goes into the image (every file of its context, its Dockerfile or
// recipe, the base image's ID, its build arguments) and stores the hash as a label. An image whose label matches
// the hash is not built again: re-running the e2e or the demo with nothing changed costs a few inspects.
import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { exec, must } from './exec.ts';

export const INPUTS_LABEL = 'io.trellis.image.inputs';

/** What a build step made: its references, and whether it built them or found them built from the same inputs. */
export interface Built {
  readonly refs: string[];
  readonly built: boolean;
}

/** Accumulates an image's inputs: files and directories (names, modes and contents, in a stable order) and strings. */
export class InputsHash {
  readonly #hash = createHash('sha256');

  /** A named value (a build argument, a base image's ID, a recipe's text). */
  value(name: string, value: string): this {
    this.#hash.update(`value ${name}\0${value}\0`);
    return this;
  }

  /** A file or a directory tree, under `name` so that moving a file changes the hash. */
  async path(name: string, path: string): Promise<this> {
    const st = await lstat(path);
    if (st.isSymbolicLink()) this.#hash.update(`link ${name}\0${await readlink(path)}\0`);
    else if (st.isDirectory()) {
      this.#hash.update(`dir ${name}\0${(st.mode & 0o7777).toString(8)}\0`);
      for (const entry of (await readdir(path)).sort()) await this.path(`${name}/${entry}`, join(path, entry));
    } else {
      const content = await readFile(path);
      this.#hash.update(`file ${name}\0${(st.mode & 0o7777).toString(8)}\0${content.length}\0`);
      this.#hash.update(content);
    }
    return this;
  }

  digest(): string {
    return this.#hash.digest('hex');
  }
}

/** The ID of an image in buildah's storage, or undefined when there is none of that name. */
export async function imageId(ref: string): Promise<string | undefined> {
  const r = await exec('buildah', ['inspect', '--type', 'image', '--format', '{{.FromImageID}}', ref]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** The inputs hash an image was built from (its label), if it has one. */
export async function builtFrom(ref: string): Promise<string | undefined> {
  const r = await exec('buildah', ['inspect', '--type', 'image', '--format', `{{index .OCIv1.Config.Labels "${INPUTS_LABEL}"}}`, ref]);
  const label = r.stdout.trim();
  return r.code === 0 && label && label !== '<no value>' ? label : undefined;
}

/** True when `ref` exists and was built from exactly `inputs`. */
export async function upToDate(ref: string, inputs: string): Promise<boolean> {
  return (await builtFrom(ref)) === inputs;
}

/** Gives the image `from` the further tags `refs` (a cached image under a new commit's tag). */
export async function tagAs(from: string, refs: readonly string[]): Promise<void> {
  if (refs.length > 0) await must('buildah', ['tag', from, ...refs]);
}

/** The base image's ID, the part of a build's inputs that a rebuilt base changes. */
export async function baseInput(baseImage: string): Promise<string> {
  if (baseImage === 'scratch') return 'scratch';
  return (await imageId(baseImage)) ?? `unresolved:${baseImage}`;
}
