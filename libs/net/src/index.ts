export * from './errors.ts';
export { familyOf, originalDestination, unmapAddress, type OriginalDestination } from './original-dst.ts';
export { addonCandidates, type NativeAddon } from './native.ts';
