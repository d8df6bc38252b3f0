import { InvalidArgumentError } from 'commander';

/** A commander parser for a positive number option: `--rate 300`; refuses 0, negatives and text. */
export const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};
