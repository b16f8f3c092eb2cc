// The policy-validator's checks, listed as Linkerd lists them under its webhooks-and-apisvc-tls category: the
// serving certificate in trellis-policy-validator-k8s-tls chains to the caBundle kube-apiserver trusts, and
// stays valid for 60 days yet.
import type { CheckContext } from './context.ts';
import { webhookChecks } from './identity.ts';
import type { Check } from './model.ts';

export const POLICY_VALIDATOR_WEBHOOK = 'trellis-policy-validator-webhook-config';
export const POLICY_VALIDATOR_SECRET = 'trellis-policy-validator-k8s-tls';

export const policyValidatorChecks: readonly Check<CheckContext>[] = webhookChecks('policy-validator', POLICY_VALIDATOR_SECRET, async (ctx) => {
  const w = await ctx.cluster.maybe(() => ctx.cluster.admission.readValidatingWebhookConfiguration({ name: POLICY_VALIDATOR_WEBHOOK }));
  if (!w) throw new Error(`ValidatingWebhookConfiguration ${POLICY_VALIDATOR_WEBHOOK} does not exist; upgrade the control plane (helm upgrade) to install it`);
  const b = w.webhooks?.[0]?.clientConfig.caBundle;
  return b ? Buffer.from(b, 'base64').toString('utf8') : undefined;
});
