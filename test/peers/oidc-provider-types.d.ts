/**
 * The part of `oidc-provider` (which ships no types) that the test harness uses.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface KoaContext {
    body: unknown;
  }

  interface ProviderAccount {
    readonly accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }

  interface ProviderConfiguration {
    readonly clients: readonly Record<string, unknown>[];
    findAccount(ctx: KoaContext, id: string): Promise<ProviderAccount | undefined>;
    readonly claims: Readonly<Record<string, readonly string[]>>;
    readonly pkce: { readonly required: () => boolean };
    readonly cookies: { readonly keys: readonly string[] };
    readonly features: {
      readonly devInteractions: { readonly enabled: boolean };
      readonly rpInitiatedLogout: {
        readonly enabled: boolean;
        logoutSource(ctx: KoaContext, form: string): Promise<void>;
        postLogoutSuccessSource(ctx: KoaContext): Promise<void>;
      };
    };
  }

  export default class Provider {
    constructor(issuer: string, configuration: ProviderConfiguration);
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
