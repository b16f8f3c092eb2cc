// Weighted traffic splits (docs/reference/linkerd-proxy.md §5 "Traffic splits"): pick a backend by weight; one that is not
// ready gets weight 0 for this attempt and the pick is redone; none ready ⇒ undefined (the caller waits and
// the failfast rules apply).
export interface WeightedBackend<B> {
  readonly weight: number;
  readonly backend: B;
}

export class WeightedSplit<B> {
  readonly backends: readonly WeightedBackend<B>[];
  readonly #random: () => number;

  constructor(backends: readonly WeightedBackend<B>[], random: () => number = Math.random) {
    this.backends = backends.filter((b) => b.weight > 0);
    this.#random = random;
  }

  pick(isReady: (b: B) => boolean = () => true): B | undefined {
    const weights = this.backends.map((b) => b.weight);
    for (let tries = 0; tries < weights.length; tries++) {
      let total = 0;
      for (const w of weights) total += w;
      if (total <= 0) return undefined;
      let x = this.#random() * total;
      let i = 0;
      for (; i < weights.length - 1; i++) {
        x -= weights[i] as number;
        if (x < 0) break;
      }
      const chosen = this.backends[i] as WeightedBackend<B>;
      if (isReady(chosen.backend)) return chosen.backend;
      weights[i] = 0;
    }
    return undefined;
  }
}
