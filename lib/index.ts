export * from './app-config';
export * from './instance-types';
export * from './nat-instance';
export * from './nat-instance-provider';
export * from './nat-instance-stack';
export * from './route-watchdog';
export * from './user-data';
export * from './validation';
