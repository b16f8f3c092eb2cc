import { mergeConfig } from 'vitest/config';
import { projectConfig } from '../../vitest.shared.ts';

// The journey's progress and phase durations go straight to the output as they happen (CI shows them in order).
// Files run one after another: each brings up the machine's one node cluster.
export default mergeConfig(projectConfig(import.meta.dirname), { test: { disableConsoleIntercept: true, fileParallelism: false } });
