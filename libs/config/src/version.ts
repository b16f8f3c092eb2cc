// The release version of every Trellis component, chart and image tag. Bumped in one place.
export const VERSION = '0.1.0';
