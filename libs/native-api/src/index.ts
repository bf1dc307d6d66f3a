export * from './native-api.module';
export * from './native-api-auth.guard';
export * from './native-api-error.filter';
export * from './openapi-document.service';
export * from './token.dto';
export * from './tokens.controller';
