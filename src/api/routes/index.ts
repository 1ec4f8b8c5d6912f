/**
 * Every feature's routes, in the order the OpenAPI document lists them.
 */
import type { ApiDeps } from '../api-deps.ts';
import type { RouteDefinition } from '../route-definition.ts';
import { assetRoutes } from './asset-routes.ts';
import { licenceRoutes } from './licence-routes.ts';
import { attestationRoutes } from './attestation-routes.ts';
import { authRoutes } from './auth-routes.ts';
import { governanceRoutes } from './governance-routes.ts';
import { evidenceRoutes } from './evidence-routes.ts';
import { mfaRoutes } from './mfa-routes.ts';
import { mfaVerifyRoutes } from './mfa-verify-routes.ts';
import { overviewRoutes } from './overview-routes.ts';
import { peopleRoutes } from './people-routes.ts';
import { reviewRoutes } from './review-routes.ts';
import { userAdminRoutes } from './user-admin-routes.ts';
import { workRoutes } from './work-routes.ts';

export function allRoutes(deps: ApiDeps): RouteDefinition[] {
  return [...authRoutes(deps), ...mfaVerifyRoutes(deps), ...mfaRoutes(deps), ...overviewRoutes(deps), ...userAdminRoutes(deps), ...peopleRoutes(deps), ...workRoutes(deps), ...governanceRoutes(deps), ...evidenceRoutes(deps), ...reviewRoutes(deps), ...assetRoutes(deps), ...licenceRoutes(deps), ...attestationRoutes(deps)];
}
