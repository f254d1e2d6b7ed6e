/** Public surface of the reports: HTML per run and per experiment, SVG charts for files. */
export { writeRunReport, renderRunReport, REPORT_FILE } from './runReport.js';
export { writeExperimentReport, renderExperimentReport, experimentBarChart } from './experimentReport.js';
export type { ExperimentCell, ExperimentResults, ExperimentSummaryRow } from './experimentReport.js';
export { svgLineChart } from './svg.js';
export type { LineChartOptions, Marker, Point, Series } from './svg.js';
export { svgBarChart } from './svgBar.js';
export type { Bar, BarChartOptions } from './svgBar.js';
export { readRun } from './runData.js';
export type { RunData } from './runData.js';
