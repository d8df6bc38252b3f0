import type { Clock } from '../../clock';
import { checkInputDates } from '../../domain/input-dates';
import type { InputDateBounds } from '../../domain/input-dates';

/**
 * The plausible-date check of every transport (GraphQL mutation arguments, DUIS commands), on the
 * service clock: "now" is the domain's now, which the dates a client sends are on.
 */
export class InputDates {
  constructor(
    private readonly clock: Clock,
    private readonly bounds: InputDateBounds,
  ) {}

  /** Throws BAD_USER_INPUT DATE_OUT_OF_RANGE for the first implausible Date in `value`. */
  check(value: unknown, sentinelAt?: ReadonlySet<string>): void {
    checkInputDates(value, this.clock.now(), this.bounds, sentinelAt);
  }
}
