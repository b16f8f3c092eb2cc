export declare function projectConfig(root: string): import("vite").UserConfig;
//# sourceMappingURL=vitest.shared.d.ts.map