/** Nothing global to stop: each test file creates and drops its own database. */
export default async function globalTeardown(): Promise<void> {}
