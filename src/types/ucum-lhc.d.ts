// @lhncbc/ucum-lhc ships no type declarations; this covers the calls Crosstalk makes.
declare module '@lhncbc/ucum-lhc' {
  export interface UcumConversionResult {
    status: 'succeeded' | 'failed' | 'error';
    toVal: number | null;
    msg: string[];
    /** The parsed units, on success. */
    fromUnit?: UcumUnit;
    toUnit?: UcumUnit;
  }
  /** A parsed unit; its conversion methods do not change it (the library shares its table's units the same way). */
  export interface UcumUnit {
    convertFrom(value: number, fromUnit: UcumUnit): number;
    convertMolMass(amount: number, toUnit: UcumUnit, molecularWeight: number): number;
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
    detectConversionType(fromUnit: UcumUnit, toUnit: UcumUnit): string;
  }
}
