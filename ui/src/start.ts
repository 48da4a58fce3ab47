/**
 * Imported first by main.tsx, so this runs before React and the app are evaluated: the opened
 * page's first requests start now (opening.ts).
 */
import { startOpening } from './opening';

startOpening();
