import type { Principal } from '../auth/principal';
import type { Loaders } from '../loaders';
import type { Services } from '../services';

/** What every resolver receives: who is calling, the services, and this operation's loaders. */
export interface GraphQLContext {
  readonly principal: Principal;
  readonly services: Services;
  readonly loaders: Loaders;
  /** The caller's IP address: the rate-limit key of callers without a token. */
  readonly clientIp?: string;
}
