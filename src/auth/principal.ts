import type { Role } from '../domain/model';

/** Who is calling, as established from a verified bearer token. */
export type Principal =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'user';
      readonly subject: string;
      readonly role: Role;
      /** Distributor IDs (two digits) whose MPANs an ED principal may see. Empty for other roles. */
      readonly distributorIds: readonly string[];
      /** Supplier party ID (EUI-64) for IS and GS principals. */
      readonly supplierId?: string;
      /** Token expiry, re-checked on long-lived WebSocket connections. */
      readonly expiresAt?: Date;
    };

export const ANONYMOUS: Principal = { kind: 'anonymous' };
