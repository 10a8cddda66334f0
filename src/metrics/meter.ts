/** The instrumentation scope of every procmetrics metric, whichever way it is exported. */
export const METER_NAME = 'procmetrics';
