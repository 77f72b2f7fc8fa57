/** The proof of issue 15 for the local platform's 5.12 profile: see tests/helpers/sync-proof.ts. */
import { syncProofTest } from './helpers/sync-proof.js';

syncProofTest('5.12', 303);
