// Wiring only: parse the configuration, build the parts that talk to the outside world, start, drain on SIGTERM.
import { runCommand } from '@trellis/config';
import { createLogger, createRegistry, tuneHeap } from '@trellis/telemetry';
import { IdentityApp } from './app.ts';
import { identityCommand, parseIdentityConfig } from './config.ts';
import { canCreateTokenReviews } from './kubernetes/access-check.ts';
import { KubeEventRecorder } from './kubernetes/events.ts';
import { loadIdentityKubeConfig } from './kubernetes/kubeconfig.ts';
import { KubeTokenReviewer } from './kubernetes/token-review.ts';

tuneHeap();

await runCommand(identityCommand, process.argv.slice(2), async (cli) => {
  const config = parseIdentityConfig(cli.values, cli.explicit);
  const log = createLogger({ name: 'identity', level: config.logLevel, format: config.logFormat });
  if (!config.enabled) {
    log.info('identity disabled: no identity scheme or trust domain configured');
    return;
  }
  const kc = loadIdentityKubeConfig(config.kubeconfig);
  const access = await canCreateTokenReviews(kc);
  if (!access.allowed) {
    log.fatal({ reason: access.reason }, 'not allowed to create tokenreviews.authentication.k8s.io; check the RBAC of identity');
    process.exitCode = 1;
    return;
  }
  const reviewer = new KubeTokenReviewer(kc);
  const events = new KubeEventRecorder(kc, { apiVersion: 'apps/v1', kind: 'Deployment', namespace: config.controllerNamespace, name: 'trellis-identity' });
  const app = await IdentityApp.start({ config, log, registry: createRegistry(), reviewer, events });
  const stop = (signal: string) => {
    log.info({ signal }, 'draining');
    void app.stop(config.shutdownGraceMs).finally(() => reviewer.close());
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
