// What the plugin prints on success (spec 1.0, "Result" and "Version"). A chained plugin hands on the
// previous plugin's result; alone, it reports an empty one.
import { SUPPORTED_VERSIONS, type NetConf } from './conf.ts';

export function versionResult(cniVersion = '1.1.0'): string {
  return JSON.stringify({ cniVersion, supportedVersions: SUPPORTED_VERSIONS });
}

export function addResult(conf: NetConf): string {
  return JSON.stringify(conf.prevResult ? { ...conf.prevResult, cniVersion: conf.cniVersion } : { cniVersion: conf.cniVersion, interfaces: [], ips: [], dns: {} });
}
