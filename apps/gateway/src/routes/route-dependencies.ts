import type { GatewayConfig } from '@rgw/config';
import type { StoredResponses } from '../stored/stored-responses.ts';
import type { TurnShutdownSwitch } from '../turns/create-turn-shutdown.ts';
import type { TurnDependencies } from '../turns/turn-dependencies.ts';

/** What the API routes need: running turns, the configuration, stored responses, and the shutdown. */
export interface RouteDependencies extends TurnDependencies {
  readonly config: GatewayConfig;
  readonly stored: StoredResponses;
  /** Thrown when the shutdown grace period is over: every turn still running ends in-band. */
  readonly turnShutdown: TurnShutdownSwitch;
}
