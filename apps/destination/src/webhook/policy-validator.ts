// The policy-validator: refuses policy resources that cannot mean what they say (Linkerd's policy controller
// serves the same webhook). Each kind has its rules in policy-rules/; a denial names the object and the field.
import type { CustomObject } from '../index/model.ts';
import { GROUP_GATEWAY, GROUP_POLICY } from '../policy/routes.ts';
import type { AdmissionRequest, Validator } from './admission-review.ts';
import { meshTLSAuthenticationProblem, networkAuthenticationProblem, serverAuthorizationProblem } from './policy-rules/authentications.ts';
import { authorizationPolicyProblem } from './policy-rules/authorization-policy.ts';
import { isObj, type Obj } from './policy-rules/fields.ts';
import { routeProblem } from './policy-rules/routes.ts';
import { serverProblem, type ListServers } from './policy-rules/server.ts';

interface Subject {
  readonly namespace: string;
  readonly name: string;
  readonly annotations: Readonly<Record<string, string>> | undefined;
}

type Rule = (spec: Obj, subject: Subject, deps: PolicyValidatorDeps) => string | undefined | Promise<string | undefined>;

const RULES: Readonly<Record<string, Rule>> = {
  [`${GROUP_POLICY}/authorizationpolicy`]: (spec, s) => authorizationPolicyProblem(spec, s.namespace),
  [`${GROUP_POLICY}/meshtlsauthentication`]: (spec) => meshTLSAuthenticationProblem(spec),
  [`${GROUP_POLICY}/networkauthentication`]: (spec) => networkAuthenticationProblem(spec),
  [`${GROUP_POLICY}/server`]: (spec, s, deps) => serverProblem(spec, s.namespace, s.name, deps.listServers),
  [`${GROUP_POLICY}/serverauthorization`]: (spec) => serverAuthorizationProblem(spec),
  [`${GROUP_POLICY}/httproute`]: (spec, s) => routeProblem(spec, s.annotations, GROUP_POLICY, 'HTTPRoute'),
  [`${GROUP_GATEWAY}/httproute`]: (spec, s) => routeProblem(spec, s.annotations, GROUP_GATEWAY, 'HTTPRoute'),
  [`${GROUP_GATEWAY}/grpcroute`]: (spec, s) => routeProblem(spec, s.annotations, GROUP_GATEWAY, 'GRPCRoute'),
};

export interface PolicyValidatorDeps {
  readonly listServers: ListServers;
}

/** The kinds the validator judges, as `group/kind` (lower case); the chart's webhook rules list the same. */
export const VALIDATED_KINDS: readonly string[] = Object.keys(RULES);

export function policyValidator(deps: PolicyValidatorDeps): Validator {
  return async (req: AdmissionRequest) => {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return undefined;
    const group = req.kind?.group ?? '';
    const kind = req.kind?.kind ?? '';
    const rule = RULES[`${group}/${kind}`.toLowerCase()];
    if (!rule) return `the policy validator does not handle ${kind || '(no kind)'}.${group || 'core'}: take it out of the webhook's rules`;
    const obj = (isObj(req.object) ? req.object : {}) as CustomObject & { metadata?: { annotations?: Record<string, string> } };
    const name = obj.metadata?.name ?? req.name ?? '';
    const subject: Subject = { namespace: obj.metadata?.namespace ?? req.namespace ?? '', name, annotations: obj.metadata?.annotations };
    const problem = isObj(obj.spec) ? await rule(obj.spec, subject, deps) : 'spec is required';
    return problem === undefined ? undefined : `${kind} ${JSON.stringify(name)}: ${problem}`;
  };
}
