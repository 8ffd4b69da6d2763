/** Types of scripts/dist-fresh.mjs (for the tests that import it). */
export declare function staleReason(root: string): string | undefined;
