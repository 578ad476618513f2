// @lhncbc/ucum-lhc ships no type declarations; this covers the two calls Crosstalk makes.
declare module '@lhncbc/ucum-lhc' {
  export interface UcumConversionResult {
    status: 'succeeded' | 'failed' | 'error';
    toVal: number | null;
    msg: string[];
  }
  export interface UcumValidationResult {
    status: 'valid' | 'invalid' | 'error';
    ucumCode: string | null;
    msg: string[];
  }
  export class UcumLhcUtils {
    static getInstance(): UcumLhcUtils;
    validateUnitString(unit: string, suggest?: boolean): UcumValidationResult;
    convertUnitTo(
      fromUnit: string,
      fromVal: number,
      toUnit: string,
      options?: { suggest?: boolean; molecularWeight?: number },
    ): UcumConversionResult;
  }
}
