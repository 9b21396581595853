/**
 * A server that could not listen, in one line naming the variables to change, instead of Node's
 * `EADDRINUSE` stack trace. Returns null for an error that is not about listening.
 */
export function describeListenError(
  error: unknown,
  where: { readonly port: number; readonly host: string; readonly portVariable: string; readonly hostVariable: string },
): string | null {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const { port, host, portVariable, hostVariable } = where;
  switch (code) {
    case 'EADDRINUSE':
      return `${portVariable}=${port} is already in use on ${host}: stop what holds it, or set ${portVariable} to a free port.`;
    case 'EACCES':
      return `${portVariable}=${port} on ${host} needs privileges this process lacks: set ${portVariable} to a port above 1023.`;
    case 'EADDRNOTAVAIL':
      return `${hostVariable}=${host} is not an address of this machine: set ${hostVariable} to one of its addresses (0.0.0.0 for all of them).`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${hostVariable}=${host} does not resolve: set ${hostVariable} to an address or a resolvable name (0.0.0.0 for all addresses).`;
    default:
      return null;
  }
}
