/** The proof of issue 15 for the local platform's 7.x profile: see tests/helpers/sync-proof.ts. */
import { syncProofTest } from './helpers/sync-proof.js';

syncProofTest('7.x', 101);
